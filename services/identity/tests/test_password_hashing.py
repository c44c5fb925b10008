"""Password hashing runs beside the event loop, not on it."""

import eventlet

from services.identity.settings import ThreadedPasswordHasher


def test_other_requests_go_on_while_a_password_is_hashed() -> None:
    hasher = ThreadedPasswordHasher(time_cost=4, memory_cost=64 * 1024, parallelism=1)
    ticks = []
    done = eventlet.event.Event()

    def ticker() -> None:
        while not done.ready():
            ticks.append(1)
            eventlet.sleep(0.001)

    eventlet.spawn(ticker)
    eventlet.sleep(0)
    before = len(ticks)
    stored = hasher.hash("korrekt-Pferd-Batterie")
    during = len(ticks) - before
    done.send()
    assert hasher.verify(stored, "korrekt-Pferd-Batterie")
    assert during > 1, "the event loop stood still while argon2 ran"
