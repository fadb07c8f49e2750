"""`pricewatch serve`: every source on its own schedule, unattended, beside other archivers.

- A source's `schedule` is a crontab line (`cron = "m h dom mon dow"`, in UTC, Sunday 0 or 7
  as in crontab) or `interval_minutes` (fractions allowed), plus `jitter_seconds`.  Either
  way the run times lie on a grid that every process agrees on: cron times, or interval
  slots counted from the Unix epoch.
- A job runs its source under the source's lock (pipeline.locks), and only if a slot has
  begun since the source was last fetched.  So when a `pricewatch run` from cron, or a
  second `serve` on another machine sharing the PostgreSQL archive, has already served the
  slot or is serving it now, this job says "skipped" and the vendor sees one request, not two.
- APScheduler 3.11 keeps the time: `max_instances=1`, `coalesce=True`, and a misfire grace
  of half the period, so that a late wake-up (a busy pool, a suspended machine) runs a
  missed slot once, instead of dropping it (the default grace is one second) or running it
  several times.  A slot that passed while nothing was running is run at start.
- SIGTERM or SIGINT: no job starts any more, running ones finish (a source's writes are one
  transaction), and the process exits 0.  A second signal ends it at once (exit 143 or 130);
  the database then rolls back whatever was open, so nothing is half-written either way.
  Once `event=stopped` is logged, signals are ignored: everything is stored.
- One structured line per job (key=value, on stderr).
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from apscheduler.triggers.base import BaseTrigger

from pipeline.config import Config, Schedule, Source
from pipeline.errors import ConfigError
from pipeline.output import CONTROL_CHARACTERS

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TICK = timedelta(microseconds=1)
_CRONTAB_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab's order: Sunday is 0 (and 7)

log = logging.getLogger("pricewatch.schedule")


class GridTrigger(BaseTrigger):
    """Every `seconds`, on slots counted from the Unix epoch.

    APScheduler's IntervalTrigger starts counting when a process starts and adds each run's
    jitter to the next start; these slots are the same in every process and never drift."""

    def __init__(self, seconds: float, jitter: float | None = None) -> None:
        self.step = round(seconds * 1_000_000)  # microseconds, so that slot arithmetic is exact
        self.jitter = jitter

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        after = previous_fire_time + _TICK if previous_fire_time else now
        elapsed = (after - EPOCH) // _TICK
        slot = EPOCH + -(-elapsed // self.step) * self.step * _TICK
        return self._apply_jitter(slot, self.jitter, now)

    def __str__(self) -> str:
        return f"every {self.step / 1_000_000:g}s"


def _crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field in APScheduler 3's terms, where 0 is Monday, not Sunday
    (its issue #286): spelled out as day names, which mean the same day in both."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        span, _, step = part.partition("/")
        first, _, last = span.partition("-")
        if first == "*":
            start, end = 0, 6
        else:
            start = _crontab_day(first)
            end = _crontab_day(last, ending=True) if last else (7 if step else start)
        if end < start:
            raise ValueError(f"day-of-week range {span!r} runs backwards")
        days.update(day % 7 for day in range(start, end + 1, int(step) if step else 1))
    return ",".join(_CRONTAB_DAYS[day] for day in sorted(days))


def _crontab_day(token: str, *, ending: bool = False) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token)
    if token in _CRONTAB_DAYS:
        return 7 if ending and token == "sun" else _CRONTAB_DAYS.index(token)
    raise ValueError(f"bad day of week {token!r} (0-7 or sun-sat)")


def _cron(expression: str, jitter: float | None) -> BaseTrigger:
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    if day != "*" and weekday != "*":
        raise ValueError("restrict the day of the month or the day of the week, not both "
                         "(crontab runs on either, APScheduler only on both)")
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_crontab_weekdays(weekday),
                       timezone=timezone.utc, jitter=jitter)


@dataclass(frozen=True)
class Plan:
    """When one source runs: its slots (`trigger`, no jitter), the trigger the scheduler uses
    (`jittered`), and how late a run may still start (`grace`, seconds)."""

    source: Source
    trigger: BaseTrigger
    jittered: BaseTrigger
    jitter: float
    grace: int

    def describe(self) -> str:
        cron = self.source.schedule.cron
        return f"cron {cron} UTC" if cron else str(self.trigger)

    def slot_after(self, moment: datetime) -> datetime | None:
        return self.trigger.get_next_fire_time(None, moment)

    def due(self, last_fetch: datetime | None, now: datetime) -> bool:
        """A slot has begun since the source was last fetched, or it never was."""
        if last_fetch is None:
            return True
        slot = self.slot_after(last_fetch + _TICK)
        return slot is not None and slot <= now

    def next_run(self, last_fetch: datetime | None, now: datetime) -> datetime | None:
        """When a scheduler runs the source next, jitter aside: now if due, else the next slot."""
        return now if self.due(last_fetch, now) else self.slot_after(now)


def _trigger(schedule: Schedule, jitter: float | None) -> BaseTrigger:
    if schedule.cron is not None:
        return _cron(schedule.cron, jitter)
    return GridTrigger(schedule.interval_minutes * 60, jitter)


def plan_for(source: Source) -> Plan | None:
    """The source's plan, None when it has no schedule; a ConfigError when the schedule is wrong."""
    schedule, where = source.schedule, f"source {source.id!r} schedule"
    if schedule.cron is None and schedule.interval_minutes is None:
        return None
    if schedule.cron is not None and schedule.interval_minutes is not None:
        raise ConfigError(f"{where}: give cron or interval_minutes, not both")
    jitter = schedule.jitter_seconds  # types and ranges were checked as the config was read
    try:
        trigger = _trigger(schedule, None)
    except ValueError as exc:
        raise ConfigError(f"{where}: cron {schedule.cron!r}: {exc}") from None
    first = trigger.get_next_fire_time(None, datetime.now(timezone.utc))
    second = trigger.get_next_fire_time(first, first) if first else None
    if second is None:
        raise ConfigError(f"{where}: cron {schedule.cron!r} never fires")
    period = (second - first).total_seconds()
    if jitter >= period:
        raise ConfigError(f"{where}: jitter_seconds ({jitter}) must be shorter than the period ({period:g} s)")
    return Plan(source, trigger, _trigger(schedule, jitter or None), jitter, grace=max(1, int(period // 2)))


def plans_for(config: Config) -> list[Plan]:
    """The plans of the enabled sources that have a schedule."""
    return [plan for source in config.sources.values() if source.enabled and (plan := plan_for(source))]


def last_fetches(session, source_id: str | None = None) -> dict[str, datetime]:
    """When each source was last fetched live (its latest attempt; imports make none)."""
    from sqlalchemy import func, select

    from db.models import Fetch

    query = select(Fetch.source_id, func.max(Fetch.started_at)).where(Fetch.attempt >= 1)
    if source_id is not None:
        query = query.where(Fetch.source_id == source_id)
    return dict(session.execute(query.group_by(Fetch.source_id)).all())


def next_runs(session, config: Config, now: datetime | None = None) -> dict[str, datetime | None]:
    """Per scheduled source, when `pricewatch serve` runs it next; empty when none has a schedule."""
    plans = plans_for(config)
    if not plans:
        return {}
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    last = last_fetches(session)
    return {plan.source.id: plan.next_run(last.get(plan.source.id), now) for plan in plans}


def _line(**fields) -> None:
    """One key=value line; a value with spaces, quotes or `=` is written as a JSON string."""
    parts = [f"ts={datetime.now(timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z')}"]
    for key, value in fields.items():
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, float):
            text = f"{value:.3f}"
        elif isinstance(value, datetime):
            text = value.isoformat()
        else:
            text = str(value)
        if any(c in text for c in ' "=\\') or not text.isprintable():
            text = CONTROL_CHARACTERS.sub(lambda match: f"\\u{ord(match.group()):04x}",  # json escapes only C0
                                          json.dumps(text, ensure_ascii=False))
        parts.append(f"{key}={text}")
    log.info(" ".join(parts))


class _Jobs:
    """What every job shares: the database, the config, one fetcher (so that one request at a
    time per host holds across jobs) and the flag that says the process is stopping."""

    def __init__(self, db, config: Config, fetcher, stopping: threading.Event) -> None:
        self.db, self.config, self.fetcher, self.stopping = db, config, fetcher, stopping

    def run(self, plan: Plan) -> None:
        if self.stopping.is_set():  # queued before the signal: it must not start now
            _line(event="job", source=plan.source.id, status="skipped", message="stopping")
            return
        started = time.monotonic()
        try:
            result = self._run(plan)
        except Exception as exc:  # one job's surprise must neither stop the scheduler nor print a traceback
            log.debug("job %s failed", plan.source.id, exc_info=True)
            _line(event="job", source=plan.source.id, status="error", seconds=time.monotonic() - started,
                  message=f"{exc.__class__.__name__}: {exc}"[:500])
            return
        _line(event="job", source=result.source, status=result.status, reason=result.reason,
              quotes=result.quotes if result.status == "ok" else None,
              events=len(result.events) if result.status == "ok" else None,
              changed=result.changed if result.status == "ok" else None,
              seconds=time.monotonic() - started, message=result.message)
        if result.status != "skipped":
            self._alert(result)

    def _alert(self, result) -> None:
        """The alert stage for this job's events and the source's health, as after `pricewatch run`."""
        from pipeline.alerts.stage import after_run

        self._mail(result.source, lambda: after_run(self.config, self.db))

    def retry_outbox(self) -> None:
        """Mail a job left pending (the server was down) goes once the server is back, rather than
        after a source's next job, which may be a day away."""
        from pipeline.alerts.config import alert_settings
        from pipeline.alerts.outbox import flush, unsent_count

        if not self.stopping.is_set() and unsent_count(self.db):
            self._mail("outbox", lambda: flush(self.db, alert_settings(self.config)))

    @staticmethod
    def _mail(source: str, deliver) -> None:
        """One `event=alerts` line for `deliver()`: an alert stage's outcome (None with alerts
        off), or a flush's report."""
        from pipeline.alerts.stage import AlertOutcome

        try:
            outcome = deliver()
        except Exception as exc:  # mail trouble never stops the archive; the outbox keeps what is queued
            _line(event="alerts", source=source, status="error", message=f"{exc.__class__.__name__}: {exc}"[:500])
            return
        if outcome is None:
            return
        delivery, queued = (outcome.delivery, outcome.queued) if isinstance(outcome, AlertOutcome) else (outcome, None)
        status = "pending" if delivery.pending else "rejected" if delivery.rejected else "ok"
        _line(event="alerts", source=source, status=status, queued=queued, sent=delivery.sent,
              rejected=delivery.rejected or None, message=delivery.error)

    def _run(self, plan: Plan):
        from pipeline.locks import source_lock
        from pipeline.run import SourceResult, run_source

        source = plan.source
        with source_lock(self.db, source.id) as held:  # run_source takes it again (re-entrant)
            if not held:
                return SourceResult(source.id, "skipped", message="another run holds this source")
            with self.db.session() as session:
                last = last_fetches(session, source.id).get(source.id)
            if not plan.due(last, datetime.now(timezone.utc)):
                return SourceResult(source.id, "skipped", message=f"this slot was served at {last.isoformat()}")
            return run_source(self.db, self.config, self.fetcher, source)


def _on_scheduler_event(event) -> None:
    from apscheduler.events import EVENT_JOB_MISSED

    if event.code == EVENT_JOB_MISSED:
        _line(event="job", source=event.job_id, status="missed",
              message=f"woke up too late for the slot of {event.scheduled_run_time.isoformat()}; "
                      "the next slot will run")
    else:
        _line(event="job", source=event.job_id, status="skipped", message="the previous run is still going")


def _log_to_stderr(verbose: bool) -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)  # -v adds the traceback of a job's error
    log.propagate = False
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # misses and overlaps are logged as job lines


def cmd_serve(args, config: Config) -> int:
    from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    from pipeline.alerts.config import alert_settings
    from pipeline.cli import EXIT_OK, open_database
    from pipeline.fetch import Fetcher
    from pipeline.run import RobotsArchive

    plans = plans_for(config)
    if not plans:
        raise ConfigError("no enabled source has a schedule (cron or interval_minutes) in sources.toml")
    _log_to_stderr(args.verbose)
    db = open_database(args, create=True)
    fetcher = Fetcher(config.fetch, robots_store=RobotsArchive(db))
    stopping = threading.Event()
    jobs = _Jobs(db, config, fetcher, stopping)
    scheduler = BackgroundScheduler(timezone=timezone.utc,
                                    executors={"default": ThreadPoolExecutor(max(1, min(8, len(plans))))})
    scheduler.add_listener(_on_scheduler_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    now = datetime.now(timezone.utc)
    with db.session() as session:
        last = last_fetches(session)
    for plan in plans:
        first = plan.next_run(last.get(plan.source.id), now) + timedelta(seconds=random.uniform(0, plan.jitter))
        scheduler.add_job(jobs.run, trigger=plan.jittered, args=[plan], id=plan.source.id, name=plan.source.id,
                          max_instances=1, coalesce=True, misfire_grace_time=plan.grace, next_run_time=first)
        _line(event="scheduled", source=plan.source.id, schedule=plan.describe(), jitter=plan.jitter,
              grace=plan.grace, next=first)
    settings = alert_settings(config)
    if settings.enabled:
        scheduler.add_job(jobs.retry_outbox, trigger="interval", seconds=settings.smtp.retry_seconds, id="outbox",
                          name="outbox", max_instances=1, coalesce=True)
    received: list[int] = []

    def on_signal(signum, _frame) -> None:
        received.append(signum)
        for number in (signal.SIGTERM, signal.SIGINT):  # a second signal ends the process at once
            signal.signal(number, signal.SIG_DFL)

    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, on_signal)
    scheduler.start()
    _line(event="serving", pid=os.getpid(), sources=len(plans),
          database=db.printable_url)
    while not received:  # a plain sleep: a handler that took a lock could deadlock the main thread
        time.sleep(0.2)
    stopping.set()
    _line(event="stopping", signal=signal.Signals(received[0]).name)
    scheduler.shutdown(wait=True)
    fetcher.close()
    db.dispose()
    for number in (signal.SIGTERM, signal.SIGINT):  # all is stored: a signal now must not turn exit 0 into 143
        signal.signal(number, signal.SIG_IGN)
    _line(event="stopped")
    return EXIT_OK


def add_commands(commands) -> None:
    serve = commands.add_parser(
        "serve", help="run every enabled source on its schedule until SIGTERM or SIGINT",
        description="Run each enabled source on its `schedule` from sources.toml (cron in UTC, or "
                    "interval_minutes, plus jitter_seconds), one structured line per job on stderr. "
                    "Safe beside `pricewatch run` and beside other `serve` processes on the same database.")
    serve.set_defaults(handler=cmd_serve)
