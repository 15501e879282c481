"""The queue in front of the one network: phones take turns, one worker thread colourises: the classroom app.

A notebook per student would hold a copy of the network each (about 0.8 GB); here thirty students
share one, and wait their turn with their place in the queue shown. An upload is checked by its
content (``uploads.check_upload``), saved in a folder of its own in this session's folder,
colourised with ``helpers.colorize`` and written next to it; a temperature change is a new job on
the same photo. Phones take turns, at most ``MAX_WAITING_EACH`` photos each.
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from ..common.images import write_image
from ..lab.temperature import DEFAULT_TEMPERATURE, check_temperature
from ..model.net import DEFAULT_SIZE
from ..photo.image_file import at_most, colorize_image_file
from .access import new_secret, same_secret
from .uploads import ACCEPTED, UploadError, bytes_in, check_upload, display_name

MAX_WAITING = 200
"""Photos waiting at most; more are refused with a message (a class of 30 sends far fewer)."""
MAX_WAITING_EACH = 3
"""Photos one phone may have waiting (or being colourised) at once: no student can push the class back."""
MAX_WAITING_PER_ADDRESS = 6
"""The same for one network address (other than this computer's own): a phone that throws its
cookies away to look like many phones is still one address on the room's Wi-Fi."""
MAX_RESULT_PIXELS = 12_000_000
"""Larger photos are shrunk to this before colouring: a result a phone can show and download,
and a bounded amount of memory on the laptop however large the photo."""
THUMB_SIDE = 480
"""Longest side of the gallery's pictures: a phone scrolling a class's gallery loads these."""
MAX_SESSION_MB = 2000
"""Disk space the session's photos may take on the laptop: beyond, uploads are refused."""
JOB_ID_BYTES = 9
"""Random bytes of a job's id (12 characters in its URL): ids are unguessable, and never a path."""
CHECKERS = 2
"""Uploads decoded (checked) at once: memory stays bounded however many arrive at once."""
PACE_KEPT = 0.7
"""Share of the previous pace kept when a photo is done (the rest is the new photo's time): the
waiting time shown follows the last few photos, not one slow one."""
THUMB_PIXELS = THUMB_SIDE**2 * 3 // 4
"""Pixels of a thumbnail: a 4:3 photo's longest side is then ``THUMB_SIDE``."""
FILES_PER_PHOTO = 3
"""Room a photo takes on disk, in uploads: its result, its gray version and its thumbnail."""


@dataclass
class Job:
    """One photo (at one temperature) in the queue."""

    id: str
    name: str
    """The file's name as the student's device gave it: shown, never used as a path."""
    source: Path
    """The upload, in the photo's own folder (named by the id of its first job): all its files are there."""
    temperature: float
    owner: str
    """A secret only the uploader's phone knows (all its photos share it): needed to see the gray
    "before", to re-run at another temperature and to remove the photo."""
    state: str = "waiting"
    """waiting, working, done or failed."""
    error: str | None = None
    seconds: float | None = None
    created: float = field(default_factory=time.time)
    address: str | None = None
    """The network address it came from: a script that drops its cookies gets a new owner each time,
    but not a new address (``MAX_WAITING_PER_ADDRESS``)."""


class PhotoQueue:
    """One network, one worker thread, photos colourised in the order they came.

    Photos are served in turns between phones (round-robin by ``Job.owner``), so a phone that
    sends ten photos waits for its next one behind everyone else's first, and each phone has at
    most ``MAX_WAITING_EACH`` photos in the queue.

    Parameters
    ----------
    net : ColorizationNet
        From ``load_model`` (any back end); used by the worker thread only.
    folder : Path
        This session's folder: uploads and results, nothing else. Created; removed by ``close``.
    size : int
        Network input size.
    temperature : float
        The temperature of a photo sent without one (the teacher's ``app --temperature``).
    """

    def __init__(self, net, folder: Path, size: int = DEFAULT_SIZE, temperature: float = DEFAULT_TEMPERATURE) -> None:
        self.net, self.folder, self.size = net, Path(folder), size
        self.temperature = check_temperature(temperature)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self._waiting: dict[str, deque[str]] = {}  # owner -> the ids of their waiting jobs, in order
        self._turns: deque[str] = deque()  # owners with waiting jobs, in the order they are served
        self._working: Job | None = None
        self.pace: float | None = None
        """Seconds a photo takes, smoothed over the last few: how long a place in the queue waits."""
        self.paused = False
        """Set by the teacher: new photos are refused for now (those in the queue go on)."""
        self.hidden: set[Path] = set()
        """Photos (their upload's path) the teacher took off the gallery and the projector."""
        self._lock = threading.Condition()
        self._closed = False
        self.done_count = 0
        self.checker = ThreadPoolExecutor(max_workers=CHECKERS, thread_name_prefix="check-upload")
        self._thread = threading.Thread(target=self._work, name="colourise", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ for the web handlers
    def add(self, data: bytes, name: str, temperature: float, owner: str | None = None,
            address: str | None = None) -> Job:
        """Check an upload and queue it for ``owner`` (a new one if None: the job says it), sent from
        network ``address``; ``UploadError`` if it is refused (nothing is kept then)."""
        check_temperature(temperature)
        owner = owner or new_secret()
        self._room(owner, address)
        fmt = check_upload(data)
        self._room(owner, address)  # checked again: the check took a moment
        used = bytes_in(self.folder)
        if used + FILES_PER_PHOTO * len(data) > MAX_SESSION_MB * 1024**2:
            raise UploadError(f"The class's photos fill the space this app may use on the laptop ({MAX_SESSION_MB} "
                              "MB): ask your teacher to remove some.", 507)
        job_id = secrets.token_urlsafe(JOB_ID_BYTES)
        folder = self.folder / job_id  # the photo's own folder: its upload, its gray version, its results
        folder.mkdir()
        source = folder / f"upload{ACCEPTED[fmt]}"
        source.write_bytes(data)
        return self._queue(Job(job_id, display_name(name), source, temperature, owner, address=address))

    def again(self, job_id: str, temperature: float, owner: str) -> Job:
        """The same photo at another temperature, for its owner only: a new job, so the first result stays."""
        check_temperature(temperature)
        first = self.jobs.get(job_id)
        if first is None or not first.source.is_file():
            raise UploadError("This photo is no longer here.", 404)
        if not same_secret(first.owner, owner):
            raise UploadError("Only the phone that sent this photo can colour it again.", 403)
        self._room(owner, first.address)
        return self._queue(Job(secrets.token_urlsafe(JOB_ID_BYTES), first.name, first.source, temperature, first.owner,
                               address=first.address))

    def position(self, job: Job) -> int:
        """1 = next; 0 when it is not waiting."""
        with self._lock:
            order = self._order()
            return order.index(job.id) + 1 if job.id in order else 0

    def waiting_count(self) -> int:
        with self._lock:
            return sum(map(len, self._waiting.values()))

    def owns(self, job: Job, owner: str | None) -> bool:
        return owner is not None and same_secret(job.owner, owner)

    def remove(self, job_id: str, owner: str | None = None) -> bool:
        """Delete a photo's files and every job made from it: with the uploader's secret, or without
        one (``owner=None``) for the teacher."""
        job = self.jobs.get(job_id)
        if job is None or (owner is not None and not self.owns(job, owner)):
            return False
        with self._lock:
            self.hidden.discard(job.source)
            for other in [j for j in self.jobs.values() if j.source == job.source]:
                self.jobs.pop(other.id)
                queue = self._waiting.get(other.owner)
                if queue is not None and other.id in queue:
                    queue.remove(other.id)
                    if not queue:
                        del self._waiting[other.owner]
                        self._turns.remove(other.owner)
            shutil.rmtree(job.source.parent, ignore_errors=True)
        return True

    def clear(self) -> int:
        """The teacher's "clear": every photo and its files go; returns how many photos."""
        photos = {job.source: job.id for job in list(self.jobs.values())}
        return sum(self.remove(job_id) for job_id in photos.values())

    def result_path(self, job: Job) -> Path:
        return job.source.parent / f"{job.id}_color.jpg"

    def gray_path(self, job: Job) -> Path:
        return job.source.parent / "gray.jpg"

    def thumb_path(self, job: Job) -> Path:
        return job.source.parent / f"{job.id}_thumb.jpg"

    def close(self) -> None:
        """Stop the worker and delete this session's folder."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._thread.join(timeout=30)
        self.checker.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self.folder, ignore_errors=True)

    # ------------------------------------------------------------------ inside
    def _room(self, owner: str, address: str | None = None) -> None:
        with self._lock:
            if self.paused:
                raise UploadError("Your teacher has paused new photos for a moment: try again soon.", 503)
            waiting = sum(map(len, self._waiting.values()))
            if waiting >= MAX_WAITING:
                raise UploadError(f"The queue is full ({waiting} photos waiting): try again in a minute.", 503)
            mine = len(self._waiting.get(owner, ())) + (self._working is not None and self._working.owner == owner)
            if mine >= MAX_WAITING_EACH:
                raise UploadError(f"You already have {mine} photos in the queue: send the next one when one of them "
                                  "is done.", 429)
            if address and not _is_loopback(address):
                queued = [j for j in [self._working, *(self.jobs[i] for q in self._waiting.values() for i in q)]
                          if j is not None and j.address == address]
                if len(queued) >= MAX_WAITING_PER_ADDRESS:
                    raise UploadError(f"This device already has {len(queued)} photos in the queue: send the next one "
                                      "when one of them is done.", 429)

    def _queue(self, job: Job) -> Job:
        with self._lock:
            self.jobs[job.id] = job
            if job.owner not in self._waiting:
                self._waiting[job.owner] = deque()
                self._turns.append(job.owner)
            self._waiting[job.owner].append(job.id)
            self._lock.notify()
        return job

    def _next(self) -> Job:
        """The next job in turn (call with the lock held, something waiting): the first owner's first photo."""
        owner = self._turns.popleft()
        job_id = self._waiting[owner].popleft()
        if self._waiting[owner]:
            self._turns.append(owner)  # their next photo after everyone else's
        else:
            del self._waiting[owner]
        return self.jobs[job_id]

    def _order(self) -> list[str]:
        """The waiting jobs' ids in the order they will be served (call with the lock held)."""
        queues = [self._waiting[owner] for owner in self._turns]
        return [queue[k] for k in range(max(map(len, queues), default=0)) for queue in queues if k < len(queue)]

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                job = self._working = self._next()
                job.state = "working"
            started = time.perf_counter()
            try:
                self._colorize(job)
            except MemoryError:
                job.state, job.error = "failed", "Not enough memory for this photo: send a smaller one."
            except (OSError, ValueError) as exc:
                job.state, job.error = "failed", f"This photo could not be colourised: {exc}"
            else:
                job.state = "done"
                self.done_count += 1
            job.seconds = time.perf_counter() - started
            with self._lock:
                self._working = None
                self.pace = job.seconds if self.pace is None else \
                    PACE_KEPT * self.pace + (1 - PACE_KEPT) * job.seconds
                if not any(j.source == job.source for j in self.jobs.values()):  # removed meanwhile
                    shutil.rmtree(job.source.parent, ignore_errors=True)  # leave nothing behind

    def _colorize(self, job: Job) -> None:
        """Colour ``job``'s photo at its temperature (in the worker thread): its result, thumbnail and
        (once per photo) gray version written into the photo's folder as JPEGs."""
        # the first picture, turned upright (phones), its colours on its own lightness under transparency
        [picture] = colorize_image_file(job.source, self.net, temperature=job.temperature, size=self.size,
                                        max_pixels=MAX_RESULT_PIXELS).pictures
        result = picture.image
        gray = self.gray_path(job)
        if not gray.exists():
            gray_bgr = cv2.cvtColor(result, cv2.COLOR_BGR2GRAY)  # what the network saw: the photo's lightness
            write_image(gray, gray_bgr)
        write_image(self.result_path(job), result)
        write_image(self.thumb_path(job), at_most(result, THUMB_PIXELS))


def _is_loopback(address: str) -> bool:
    """Whether a client address is this computer itself (the teacher's own browser, a test)."""
    import ipaddress

    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
