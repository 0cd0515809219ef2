"""Charts drawn as inline SVG keep their coordinates in dots whatever the language.

French formats 24.0 as "24,0", which is not a number in SVG: the chart's labels and lines
ended up piled at the origin. Every template that draws an SVG turns localisation off
around it, and rendering one in French gives plain numbers.
"""

from pathlib import Path

from django.template import Context, Template
from django.utils import translation

TEMPLATES = Path(__file__).resolve().parents[2] / "campagne"


def test_every_svg_template_turns_localisation_off():
    sources = [p for p in TEMPLATES.glob("*/templates/**/*.html") if "<svg" in p.read_text()]
    assert sources, "no template draws an SVG chart any more"
    for path in sources:
        text = path.read_text()
        before_svg = text[: text.index("<svg")]
        assert "{% localize off %}" in before_svg, path
        assert "</svg>{% endlocalize %}" in text, path


def test_coordinates_render_with_dots_in_french():
    template = Template(
        "{% load l10n %}{% localize off %}<svg><text x='{{ x }}'>t</text></svg>{% endlocalize %}"
    )
    with translation.override("fr"):
        html = template.render(Context({"x": 24.5}))
    assert "x='24.5'" in html
