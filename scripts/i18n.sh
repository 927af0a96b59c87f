#!/usr/bin/env bash
# Linli translations (zh-Hans is the source language, English lives in linli/locale/en).
#   scripts/i18n.sh            re-extract the messages of the linli package into linli/locale/en/.../django.po
#                              (new strings appear with an empty msgstr, changed ones as "#, fuzzy")
#   scripts/i18n.sh --compile  compile django.po into django.mo (commit both: no gettext needed at run time)
#   scripts/i18n.sh --check    fail when an entry is untranslated or fuzzy, a placeholder was changed,
#                              django.mo is stale, or the code has a string the catalogue lacks
# Extraction and compilation need GNU gettext (Debian: apt-get install gettext); --check without it
# checks only the committed catalogues (scripts/i18n_check.py, pure Python, shared with the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV="${LINLI_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
LANGS=(en)
export DJANGO_SETTINGS_MODULE=linli.config.settings
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# Settings need a data directory; keep extraction away from the developer's own one.
export LINLI_DATA_DIR="${LINLI_DATA_DIR:-$(mktemp -d)}"

need_gettext() {
  command -v msgfmt >/dev/null && command -v xgettext >/dev/null && return
  echo "GNU gettext is missing: install the Debian package 'gettext'" >&2
  exit 1
}

extract() {
  need_gettext
  extract_in "$ROOT/linli"
  local po=() lang
  for lang in "${LANGS[@]}"; do po+=("linli/locale/$lang/LC_MESSAGES/django.po"); done
  if "$PY" scripts/i18n_check.py "${po[@]}"; then
    echo "Every entry is translated. Next: scripts/i18n.sh --compile"
  else
    echo "Translate the entries listed above (check and remove each '#, fuzzy'), then scripts/i18n.sh --compile" >&2
  fi
}

extract_in() {
  # Run inside the package directory so only it is scanned (not .venv, bench, tests/); migrations
  # and test modules carry no user-facing text. No JavaScript of ours has strings: no djangojs domain.
  local args=() lang
  for lang in "${LANGS[@]}"; do args+=(-l "$lang"); done
  (cd "$1" && "$PY" -m django makemessages "${args[@]}" --no-obsolete \
     --ignore 'tests/*' --ignore '*/tests/*' --ignore 'migrations/*' --ignore '*/migrations/*' \
     --ignore 'static/*' --ignore '*/static/*' --ignore 'locale/*')
}

compile() {
  need_gettext
  (cd linli && "$PY" -m django compilemessages "${LANGS[@]/#/--locale=}" --ignore 'tests/*')
}

check() {
  # 1. The committed catalogues: nothing untranslated or fuzzy, placeholders kept, django.mo compiled.
  local po=() lang status=0
  for lang in "${LANGS[@]}"; do po+=("linli/locale/$lang/LC_MESSAGES/django.po"); done
  "$PY" scripts/i18n_check.py --mo "${po[@]}" || status=1
  # 2. The code: extract from a scratch copy of linli/ (the tree is not touched), so a string added
  #    to the code but missing from the catalogue fails too.
  if ! command -v xgettext >/dev/null; then
    echo "GNU gettext is missing: only the committed catalogues were checked" >&2
    return "$status"
  fi
  local scratch
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' RETURN
  tar --exclude=__pycache__ -cf - linli | tar -xf - -C "$scratch"
  (export PYTHONPATH="$scratch"; extract_in "$scratch/linli") >/dev/null
  local fresh=()
  for lang in "${LANGS[@]}"; do fresh+=("$scratch/linli/locale/$lang/LC_MESSAGES/django.po"); done
  "$PY" scripts/i18n_check.py "${fresh[@]}" \
    || { echo "Strings in the code lack a translation: run scripts/i18n.sh, translate, scripts/i18n.sh --compile" >&2; status=1; }
  [ "$status" = 0 ] && echo "Translations complete: ${po[*]}"
  return "$status"
}

case "${1:-}" in
  "") extract ;;
  --compile) compile ;;
  --check) check ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
