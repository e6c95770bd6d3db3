from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def load(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    from ceres.accounts.codenames import load_catalogue

    load_catalogue(apps.get_model("accounts", "Codename"))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
