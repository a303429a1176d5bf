"""What a reference image may be: how many per request, how many pixels, and the size sent upstream.

The one home of these numbers; import them from ``bot.core``.
"""

from __future__ import annotations

#: reference images per request (FLUX.2 takes ``input_image_0``..``input_image_3``)
MAX_REFERENCES = 4
#: longest side of a reference as sent upstream (FLUX.2 wants at most 512×512)
REFERENCE_SIDE = 512
#: pixels a reference may declare in its header; JPEGs decode at 1/2..1/8 scale, so big phone photos stay cheap
MAX_REFERENCE_PIXELS = 50_000_000
#: pixels a reference may declare when its format must be decoded at full size (PNG, WebP, GIF, BMP, ...)
MAX_FULL_DECODE_PIXELS = 24_000_000
