#!/usr/bin/env bash
# Refresh the message catalogs: extract -> update (or init) -> compile.
#
#   scripts/i18n.sh            # from anywhere; works on the repository this script lives in
#
# Then translate every empty or "#, fuzzy" entry in translations/en/LC_MESSAGES/messages.po,
# remove the fuzzy flags, and run this script again so messages.mo matches the .po.
# msgids are Chinese (zh_Hans_CN is the default locale and needs no catalog).
# Running it twice in a row changes nothing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -x .venv/bin/pybabel ]]; then
    PYBABEL=.venv/bin/pybabel
else
    PYBABEL=pybabel
fi

TRANSLATIONS=translations
POT="$TRANSLATIONS/messages.pot"
LOCALES=(en)
# Keywords beyond Babel's defaults (_, gettext, ngettext, pgettext, ...).
# tests/test_i18n.py reads this line, so the test extracts exactly what the catalog is built from.
KEYWORDS=(-k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 -k N_ -k WeightingError)

mkdir -p "$TRANSLATIONS"
tmp_pot="$(mktemp)"
trap 'rm -f "$tmp_pot"' EXIT

"$PYBABEL" --quiet extract -F babel.cfg "${KEYWORDS[@]}" \
    --no-location --sort-output --no-wrap \
    --project=survey-eval --copyright-holder="survey-eval contributors" \
    -o "$tmp_pot" .

# Only replace the template when a message changed, not just its POT-Creation-Date.
strip_date() { grep -v '^"POT-Creation-Date: ' "$1"; }
if [[ -f "$POT" ]] && cmp -s <(strip_date "$POT") <(strip_date "$tmp_pot"); then
    echo "messages.pot: unchanged"
else
    cat "$tmp_pot" >"$POT"
    echo "messages.pot: updated"
fi

for locale in "${LOCALES[@]}"; do
    po="$TRANSLATIONS/$locale/LC_MESSAGES/messages.po"
    if [[ -f "$po" ]]; then
        "$PYBABEL" --quiet update -i "$POT" -d "$TRANSLATIONS" -l "$locale" \
            --no-wrap --ignore-obsolete --ignore-pot-creation-date
    else
        "$PYBABEL" --quiet init -i "$POT" -d "$TRANSLATIONS" -l "$locale" --no-wrap
    fi
done

"$PYBABEL" compile -d "$TRANSLATIONS" --statistics

cat <<'MSG'
Next: give every empty msgstr and every "#, fuzzy" entry a real translation (and drop the
fuzzy flag), then run scripts/i18n.sh again. tests/test_i18n.py checks the result.
MSG
