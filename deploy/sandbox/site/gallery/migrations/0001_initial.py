"""Create gallery.StoredFile."""
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="StoredFile",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("file", models.FileField(max_length=500, upload_to="uploads/%Y/%m/")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "host",
                    models.CharField(help_text="Host that stored it, or 'seed'.", max_length=100),
                ),
            ],
        ),
    ]
