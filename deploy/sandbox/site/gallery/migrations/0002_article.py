"""Create gallery.Article (rich text and JSON that store media URLs)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='Article',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug', models.SlugField(max_length=100, unique=True)),
                ('title', models.CharField(max_length=200)),
                ('cover', models.FileField(blank=True, max_length=500, upload_to='covers/%Y/%m/')),
                ('body', models.TextField(blank=True)),
                ('data', models.JSONField(blank=True, default=dict)),
            ],
        ),
    ]
