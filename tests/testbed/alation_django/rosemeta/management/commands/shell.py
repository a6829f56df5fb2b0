"""Django's `shell`, with the host's knobs applied (older Django, noise, slow start, hangs)."""
import select
import sys
import time

from django.core.management.commands import shell as django_shell

from rosemeta import knobs as _knobs

NOISE = (
    "Error decrypting value, details: Unknown prefix b'gAAAAABk'. Ignoring.\n"
    "Error decrypting value, details: Unknown prefix b'enc:v1:'. Ignoring.\n"
)


class Command(django_shell.Command):
    def handle(self, **options):
        knobs = _knobs.load()
        try:
            return self.run(knobs, options)
        finally:
            linger = float(knobs["exit_delay"])
            while linger < 0:
                time.sleep(3600)
            time.sleep(linger)

    def run(self, knobs, options):
        if knobs["startup_delay"]:
            time.sleep(float(knobs["startup_delay"]))
        if knobs["shell_noise"]:
            sys.stdout.write(NOISE)
            sys.stdout.flush()
        if knobs["hang"]:
            while True:
                time.sleep(3600)
        if knobs["interactive_console"] and not options["command"]:
            # Django's interactive branch, as when select() found stdin empty at start-up.
            return self.python(options)
        if knobs["old_exec"] and not options["command"]:
            if not sys.stdin.isatty() and select.select([sys.stdin], [], [], 0)[0]:
                # Django < 1.11 did exactly this: no globals dict, so the code runs in this
                # method's scope and functions it defines cannot see its top-level imports.
                exec(sys.stdin.read())
                return
        return super().handle(**options)
