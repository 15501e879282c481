"""The classroom room: phones send photos, one network colours them in turn (the classroom app, docs/teaching.md)."""

from .access import (
    CODE_ALPHABET,
    COOKIE_DAYS,
    OWNER_COOKIE,
    SESSION_COOKIE,
    TEACHER_COOKIE,
    WRONG_CODE_PAUSE,
    WRONG_CODES_ALLOWED,
    WrongCodes,
    access_code,
    new_secret,
    same_secret,
    teacher_key,
)
from .handlers import PAGE, RECEIVING, TEACHER_PAGE, ClassroomState, job_status
from .joining import join_url, qr_svg, qr_text
from .photo_queue import (
    MAX_RESULT_PIXELS,
    MAX_SESSION_MB,
    MAX_WAITING,
    MAX_WAITING_EACH,
    MAX_WAITING_PER_ADDRESS,
    THUMB_SIDE,
    Job,
    PhotoQueue,
)
from .server import BODY_SECONDS, HEADER_SECONDS, MAX_CONNECTIONS, SMALL_BODY, make_app, serve
from .uploads import (
    ACCEPTED,
    FOLDER_PREFIX,
    HEIF_BRANDS,
    MAX_PIXELS,
    MAX_UPLOAD_MB,
    UploadError,
    bytes_in,
    check_upload,
    display_name,
    session_folder,
)

__all__ = [
    "ACCEPTED", "BODY_SECONDS", "CODE_ALPHABET", "COOKIE_DAYS", "FOLDER_PREFIX", "HEADER_SECONDS", "HEIF_BRANDS",
    "MAX_CONNECTIONS", "MAX_PIXELS", "MAX_RESULT_PIXELS", "MAX_SESSION_MB", "MAX_UPLOAD_MB", "MAX_WAITING",
    "MAX_WAITING_EACH", "MAX_WAITING_PER_ADDRESS", "OWNER_COOKIE", "PAGE", "RECEIVING", "SESSION_COOKIE",
    "SMALL_BODY", "TEACHER_COOKIE", "TEACHER_PAGE", "THUMB_SIDE", "WRONG_CODES_ALLOWED", "WRONG_CODE_PAUSE",
    "ClassroomState", "Job", "PhotoQueue", "UploadError", "WrongCodes", "access_code", "bytes_in",
    "check_upload", "display_name", "job_status", "join_url", "make_app", "new_secret", "qr_svg", "qr_text",
    "same_secret", "serve", "session_folder", "teacher_key",
]
