# Inbound closes (issue 13): the CRM sources and every delivery they make.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("handoffs", "0010_external_ids_and_packet_pending"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='InboundSource',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100)),
                ('slug', models.SlugField(help_text='Part of the address, and the external source.', max_length=40, unique=True)),
                ('kind', models.CharField(choices=[('hubspot', 'HubSpot workflow webhook'), ('salesforce', 'Salesforce flow HTTP callout (JSON)'), ('generic', 'Generic JSON')], max_length=16)),
                ('secret', models.CharField(max_length=128)),
                ('previous_secret', models.CharField(blank=True, max_length=128)),
                ('secret_rotated_at', models.DateTimeField(blank=True, null=True)),
                ('active', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('default_owner', models.ForeignKey(blank=True, help_text='Owns the deals whose owner in the CRM is not a Baton user.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['name', 'id'],
            },
        ),
        migrations.CreateModel(
            name='InboundDelivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('received_at', models.DateTimeField()),
                ('raw_body', models.TextField(blank=True)),
                ('body_truncated', models.BooleanField(default=False, help_text='Only the start of a refused body is kept.')),
                ('headers', models.JSONField(blank=True, default=dict)),
                ('signature_ok', models.BooleanField(default=False)),
                ('outcome', models.CharField(blank=True, choices=[('created', 'Created'), ('updated', 'Updated'), ('ignored', 'Ignored'), ('rejected', 'Rejected'), ('failed_to_map', 'Failed to map')], max_length=16)),
                ('reason', models.TextField(blank=True)),
                ('status_code', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('external_id', models.CharField(blank=True, help_text="The CRM's id of the deal.", max_length=100)),
                ('processed_at', models.DateTimeField(blank=True, null=True)),
                ('account', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='accounts.account')),
                ('deal', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='handoffs.deal')),
                ('replayed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('replayed_from', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='replays', to='handoffs.inbounddelivery')),
                ('source', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='handoffs.inboundsource')),
            ],
            options={
                'ordering': ['-received_at', '-id'],
                'indexes': [models.Index(fields=['received_at'], name='inbound_delivery_received_idx'), models.Index(fields=['source', '-received_at'], name='inbound_delivery_source_idx')],
            },
        ),
    ]
