"""On-call: who answers the page now, and who will at any instant.

The pure engine comes first, with no database: `rotation.py` (people taking turns, handoffs at a
local wall-clock time, exact across DST) and `schedule.py` (layers, restrictions, overrides,
and the final schedule computed from them: who is on call, the gaps, the handoffs). The Django
models and services call it; they add storage, not rules. The model, the DST rule and the
choices are in `docs/oncall.md`.
"""
