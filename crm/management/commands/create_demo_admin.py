from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "umkm-blitar-demo"


class Command(BaseCommand):
    help = "Create the demo superuser for a local trial (refused when DEBUG is off)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            # A known password on a public server would be an open door.
            raise CommandError("The demo admin is only created with DEBUG on.")
        User = get_user_model()
        if not User.objects.filter(username=DEMO_USERNAME).exists():
            User.objects.create_superuser(DEMO_USERNAME, "", DEMO_PASSWORD)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo login: username '{DEMO_USERNAME}', password '{DEMO_PASSWORD}'"
            )
        )
