# Webhooks and chat alerts (issue 13): endpoints, and what an outbox row needs to be a
# webhook delivery (channel webhook, its endpoint, the event's payload, the answer).
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import followups.models


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0014_customer_pulse"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100)),
                ('url', models.URLField(help_text='Where Baton POSTs each event. https:// is required unless DEBUG or BATON_WEBHOOK_ALLOW_HTTP.', max_length=500)),
                ('format', models.CharField(choices=[('generic', 'Generic JSON (signed)'), ('slack', 'Slack (incoming webhook)'), ('teams', 'Microsoft Teams (incoming webhook)')], default='generic', max_length=16)),
                ('events', models.JSONField(blank=True, default=list, help_text='The event names it subscribes to (WebhookEvent).')),
                ('secret', models.CharField(default=followups.models.webhook_secret, help_text="Signs every delivery (X-Baton-Signature); shown to admins, rotated from the endpoint's page.", max_length=100)),
                ('is_active', models.BooleanField(default=True, help_text='Inactive: nothing is sent, pending deliveries cancelled.')),
                ('secret_rotated_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ['name', 'id'],
            },
        ),
        migrations.RemoveConstraint(
            model_name='outboxmessage',
            name='outbox_message_has_recipient',
        ),
        migrations.AddField(
            model_name='outboxmessage',
            name='payload',
            field=models.JSONField(blank=True, help_text="Webhooks: the event (id, event, occurred_at, data), frozen when it happened; rendered in the endpoint's format when sent.", null=True),
        ),
        migrations.AddField(
            model_name='outboxmessage',
            name='replay_of',
            field=models.ForeignKey(blank=True, help_text='Webhooks: the delivery an admin replayed (same X-Baton-Delivery id).', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='replays', to='followups.outboxmessage'),
        ),
        migrations.AddField(
            model_name='outboxmessage',
            name='requested_by',
            field=models.ForeignKey(blank=True, help_text='Who asked for it by hand (a webhook replay or test event); empty for the rest.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='outboxmessage',
            name='response_code',
            field=models.PositiveSmallIntegerField(blank=True, help_text='Webhooks: the HTTP status of the last attempt (none: no answer).', null=True),
        ),
        migrations.AddField(
            model_name='outboxmessage',
            name='response_excerpt',
            field=models.CharField(blank=True, db_default='', help_text="Webhooks: the start of the last answer's body.", max_length=500),
        ),
        migrations.AlterField(
            model_name='outboxmessage',
            name='channel',
            field=models.CharField(choices=[('email', 'E-mail'), ('webhook', 'Webhook')], default='email', max_length=16),
        ),
        migrations.AlterField(
            model_name='outboxmessage',
            name='message_id',
            field=models.CharField(blank=True, help_text="The e-mail's Message-ID (blank when delivered in the app only); a webhook's X-Baton-Delivery id, set when queued and kept by a replay.", max_length=200),
        ),
        migrations.AlterField(
            model_name='outboxmessage',
            name='purpose',
            field=models.CharField(choices=[('reminder', 'Reminder'), ('escalation', 'Escalation'), ('notification', 'Notification (check-in issue, hand-off news)'), ('invite', 'Meeting invite'), ('cancellation', 'Meeting cancellation'), ('customer_summary', 'Customer summary'), ('handoff_proposed', 'Hand-off proposed'), ('decline_notice', 'Hand-off declined'), ('weekly_digest', 'Weekly digest'), ('pulse', 'Customer pulse'), ('webhook', 'Webhook or chat alert')], max_length=32),
        ),
        migrations.AlterField(
            model_name='outboxmessage',
            name='recipient_key',
            field=models.CharField(help_text='user:<id>, contact:<id> or endpoint:<id>: the recipient, in the uniqueness key.', max_length=40),
        ),
        migrations.AddField(
            model_name='webhookendpoint',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='outboxmessage',
            name='endpoint',
            field=models.ForeignKey(blank=True, db_index=False, help_text='Channel webhook: the endpoint it is POSTed to.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='followups.webhookendpoint'),
        ),
        migrations.AddIndex(
            model_name='outboxmessage',
            index=models.Index(condition=models.Q(('endpoint__isnull', False)), fields=['endpoint', '-created_at'], name='outbox_endpoint_log_idx'),
        ),
        migrations.AddConstraint(
            model_name='outboxmessage',
            constraint=models.CheckConstraint(condition=models.Q(('recipient__isnull', False), ('contact__isnull', False), ('endpoint__isnull', False), _connector='OR'), name='outbox_message_has_recipient'),
        ),
    ]
