from django.core.management.base import BaseCommand

from crm.whatsapp.notifications import run_daily_jobs


class Command(BaseCommand):
    help = (
        "Run the day's periodic jobs (payment reminders) if no one ran them today. Safe to "
        "run from cron at any frequency, and at the same time as the workers (which run "
        "them too)."
    )

    def handle(self, *args, **options):
        ran = run_daily_jobs()
        self.stdout.write(f"Ran: {', '.join(ran)}" if ran else "Nothing to run now.")
