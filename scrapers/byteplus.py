"""BytePlus ModelArk pricing (international Doubao / Seed), USD.

Reads https://docs.byteplus.com/en/docs/ModelArk/1544106, the international edition of
the Volcengine "模型价格" document: same doc platform and the same column scheme in
English (`Model ID | Pricing tiers (K tokens) | Input (non-audio) (USD/M tokens) |
Input (audio) | Cache-storage (USD/M tokens/Hour) | Cache-hit input (non-audio) |
Cache-hit input (audio) | Output`), so the table reading is shared with
`scrapers/volcengine.py` (`_parse_document`): DOM tables or, failing those, the
document markdown (`MDContent`), headings for the section conditions.

Traps: model ids carry a version date (`seed-2-0-lite-260428`, kept as shown);
`Prompt length (128, 256]` is in thousands of tokens -> context_tokens; the
"Offline batch inference" section -> batch; video generation tables ("Online
inference (USD / M tokens)" with prose cells such as "Input without video: 10.70")
are not per-token LLM prices and are skipped.
"""

from __future__ import annotations

from scrapers import Page, Quote, register
from scrapers.volcengine import _parse_document

_MIN_MODELS = 3


@register("byteplus", version=2)
def parse(page: Page) -> list[Quote]:
    return _parse_document(page, default_currency="USD", min_models=_MIN_MODELS)
