#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ with every corpus net of ../shared and every testdata net, and
# writes fuzz/caffe.dict (the field, enum and layer-type names of proto/caffe.proto) for
# libFuzzer's -dict. Both are made at run time and never committed (see .gitignore).
set -euo pipefail
fuzz="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$fuzz")"
shared="${SHARED:-$root/../shared}"
test -d "$shared/corpus" || { echo "seed_corpus: $shared/corpus is missing" >&2; exit 1; }

for target in textformat analysis; do
    dir="$fuzz/corpus/$target"
    mkdir -p "$dir"
    # One file per source, named after its path so reseeding overwrites instead of duplicating.
    while IFS= read -r -d '' f; do
        rel="${f#"$shared/"}"
        rel="${rel#"$root/"}"
        cp "$f" "$dir/seed-${rel//\//__}"
    done < <(find "$shared/corpus" "$root/testdata" -type f -name '*.prototxt' -print0)
    echo "seed_corpus: $(find "$dir" -type f | wc -l) files in $dir"
done

# Dictionary: names the reader and the layer rules compare against.
{
    for tok in '{' '}' ':' '<' '>' '[' ']' ',' ';' '#' '"' "'" '\' 'inf' 'nan' 'true' 'false' \
        '0x' '1e-5' '-1' '2147483647' '2147483648' '4294967296' '9223372036854775808'; do
        printf '"%s"\n' "$(printf '%s' "$tok" | sed 's/\\/\\\\/g; s/"/\\"/g')"
    done
    # Field names (`optional uint32 num_output = 1`) and enum values (`MAX = 0;`).
    sed -nE 's/^\s*(optional|repeated|required)\s+[A-Za-z0-9_.]+\s+([A-Za-z0-9_]+)\s*=.*/\2/p;
             s/^\s*([A-Z][A-Z0-9_]*)\s*=\s*-?[0-9]+\s*;.*/\1/p' "$root/proto/caffe.proto"
    # Layer types as the corpus spells them.
    grep -rhoE 'type:\s*"[A-Za-z0-9_]+"' "$shared/corpus" "$root/testdata" |
        sed -E 's/.*"(.*)"/\1/'
} | sed -E '/^"/!s/.*/"&"/' | sort -u > "$fuzz/caffe.dict"
echo "seed_corpus: $(wc -l < "$fuzz/caffe.dict") entries in $fuzz/caffe.dict"
