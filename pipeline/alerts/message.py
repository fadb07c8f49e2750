"""Building the MIME message every alert is sent as, and its Message-ID.

A Message-ID is drawn once, when the message is queued, and stored with it: every attempt
to send the message carries the same one (receivers that see it twice can drop the copy),
and no other message, in this archive or another, ever has it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime


@dataclass(frozen=True)
class InlineImage:
    content_id: str  # without the angle brackets, as the HTML refers to it: cid:<content_id>
    png: bytes


def new_message_id(kind: str, domain: str) -> str:
    return f"<pricewatch.{kind}.{uuid.uuid4().hex}@{domain}>"


def compose(*, sender: str, recipient: str, subject: str, message_id: str, date: datetime, text: str,
            html: str | None = None, images: list[InlineImage] = ()) -> bytes:
    """The whole message as sent (CRLF line ends): plain text, and HTML with inline images."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
        html_part = message.get_payload()[-1]
        for image in images:
            html_part.add_related(image.png, "image", "png", cid=f"<{image.content_id}>",
                                  filename=f"{image.content_id.split('@')[0]}.png")
    return message.as_bytes()
