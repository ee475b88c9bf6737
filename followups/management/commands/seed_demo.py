"""`manage.py seed_demo`: a small realistic organisation to click through.

Each app writes its own tables (accounts.demo, handoffs.demo and handoffs.demo_handoffs,
followups.demo_report and followups.demo), taking what it builds on from the layer
below; this command only calls them in order, in one transaction, and prints the
logins. It lives in the top app because it is the one allowed to call them all.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.demo import demo_logins, seed_people
from accounts.models import User
from followups.demo import seed_followups_demo, settle_demo_outbox
from followups.demo_report import seed_report_demo
from handoffs.demo import seed_handoffs_demo
from handoffs.demo_handoffs import seed_handoff_states


class Command(BaseCommand):
    help = "Load demo data (users for each role, accounts, deals, hand-offs, check-ins) and print the logins."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Do nothing (but print the logins) if users exist.")

    def handle(self, *args, if_empty: bool = False, **options):
        if if_empty and User.objects.exists():
            self.stdout.write("The database already has data; demo data not loaded again.")
        else:
            with transaction.atomic():
                people = seed_people()
                for seed in self._app_seeders():
                    seed(people)
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write("\nDemo logins (username / password — role):")
        for username, password, role in demo_logins():
            self.stdout.write(f"  {username:<8} / {password} — {role}")

    def _app_seeders(self):
        # After the people, in layer order: the pipeline, the hand-offs in every status,
        # the stories behind each dropped-baton type (their customers, deals and
        # hand-offs from the layers below, then their check-ins), the check-ins of every
        # accepted hand-off, and last the demo's e-mails marked sent.
        return [seed_handoffs_demo, seed_handoff_states, seed_report_demo, seed_followups_demo, settle_demo_outbox]
