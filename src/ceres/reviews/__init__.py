"""Reviews of the work: for now the customer-questions log (the earlier handbook: questions about
product usage are logged, and at the end of the week someone updates the documentation so the
next user need not ask)."""
