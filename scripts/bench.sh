#!/usr/bin/env bash
# The whole process, timed: caffe-mem's full JSON report against protobuf's own C++ text parser
# (`protoc --encode=caffe.NetParameter proto/caffe.proto`, Debian's protobuf-compiler) on the same
# files in the same run. Prints medians (hyperfine), the caffe-mem/protoc ratio, peak memory
# (GNU time's maximum resident set, median of the runs) and issue 7's three checks. Nothing here
# fails on a slow figure: the machine is shared, so read the spread hyperfine reports too.
#
# usage: scripts/bench.sh [RUNS]       (default 10 runs per command, after one warm-up)
# The nets: testdata/alexnet.prototxt (tiny), the corpus's largest when ../shared is beside the
# project, and generated ResNet-like nets of 1k, 10k and 100k layers (examples/gen_net.rs,
# written once to target/bench-nets/). Then the growth nets (benches/common/growth.rs: a chain,
# a fan-out, parameters shared by name, a chain of all-different layers) at 2k and 20k layers:
# linear growth is about 10x.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}

# Tools: Debian's packages, installed when missing (benchmarks are not part of CI).
missing=()
command -v protoc >/dev/null || missing+=(protobuf-compiler)
command -v hyperfine >/dev/null || missing+=(hyperfine)
[ -x /usr/bin/time ] || missing+=(time)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo build --release --quiet --bin caffe-mem --example gen_net
bin=target/release/caffe-mem
nets_dir=target/bench-nets
mkdir -p "$nets_dir"
for n in 1000 10000 100000; do
  f="$nets_dir/resnet_$n.prototxt"
  [ -s "$f" ] || target/release/examples/gen_net "$n" "$f" 2>/dev/null
done
growth_shapes=(chain fan-out shared distinct)
for shape in "${growth_shapes[@]}"; do
  for n in 2000 20000; do
    f="$nets_dir/${shape}_$n.prototxt"
    [ -s "$f" ] || target/release/examples/gen_net --shape "$shape" "$n" "$f" 2>/dev/null
  done
done

nets=(testdata/alexnet.prototxt)
for f in ../shared/corpus/soeaver__caffe-model/cls/inception/deploy_inception-resnet-v2.prototxt \
  ../shared/corpus/hujie-frank__SENet/models/SENet-154.prototxt; do
  [ -f "$f" ] && nets+=("$f")
done
nets+=("$nets_dir/resnet_1000.prototxt" "$nets_dir/resnet_10000.prototxt" "$nets_dir/resnet_100000.prototxt")

protoc_cmd="protoc --encode=caffe.NetParameter -Iproto proto/caffe.proto"
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

# Median of GNU time's peak RSS (KiB) over a few runs of a shell command.
peak_kib() {
  for _ in 1 2 3; do
    /usr/bin/time -f %M -o "$results/rss" sh -c "$1" >/dev/null 2>&1
    cat "$results/rss"
  done | sort -n | sed -n 2p
}

# hyperfine, quiet unless a command fails (its message then explains why).
timed() {
  if ! hyperfine --style none "$@" >/dev/null 2>"$results/hyperfine.err"; then
    cat "$results/hyperfine.err" >&2
    exit 1
  fi
}

# protoc's start-up: the schema read and an empty message parsed.
timed --warmup 3 --runs "$((runs * 3))" --export-json "$results/startup.json" \
  "$protoc_cmd < /dev/null > /dev/null"

i=0
for net in "${nets[@]}"; do
  timed --warmup 1 --runs "$runs" --export-json "$results/$i.json" \
    "$bin $net > /dev/null" "$protoc_cmd < $net > /dev/null"
  echo "$net $(wc -c <"$net") $(peak_kib "$bin $net") $(peak_kib "$protoc_cmd < $net")" \
    >"$results/$i.meta"
  i=$((i + 1))
done

for shape in "${growth_shapes[@]}"; do
  timed --warmup 1 --runs "$runs" --export-json "$results/growth-$shape.json" \
    "$bin $nets_dir/${shape}_2000.prototxt > /dev/null" \
    "$bin $nets_dir/${shape}_20000.prototxt > /dev/null"
done

python3 - "$results" "$i" "$runs" "${growth_shapes[@]}" <<'EOF'
import json, os, sys

results, count, runs, shapes = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]

def times(path):
    r = json.load(open(path))["results"]
    return [(x["median"] * 1e3, x["min"] * 1e3, x["max"] * 1e3) for x in r]

def cpu_ms(path):
    """caffe-mem's mean user + system time: steadier than the wall clock on a shared host."""
    x = json.load(open(path))["results"][0]
    return (x["user"] + x["system"]) * 1e3

startup = times(os.path.join(results, "startup.json"))[0][0]
print(f"medians of {runs} runs (ms, min-max); peak RSS in MiB (median of 3)\n")
print(f"{'net':<36} {'MB':>6} {'caffe-mem ms':>22} {'protoc ms':>22} {'ratio':>7} {'cm MiB':>7} {'protoc MiB':>10}")
rows = {}
for i in range(count):
    net, size, cm_kib, pc_kib = open(os.path.join(results, f"{i}.meta")).read().split()
    (cm, cm_lo, cm_hi), (pc, pc_lo, pc_hi) = times(os.path.join(results, f"{i}.json"))
    name = os.path.basename(net)
    rows[name] = (cm, pc, int(cm_kib) / 1024, int(pc_kib) / 1024, cpu_ms(os.path.join(results, f"{i}.json")))
    print(f"{name[:36]:<36} {int(size) / 1e6:>6.2f} {cm:>9.1f} ({cm_lo:.0f}-{cm_hi:.0f}){'':>3} "
          f"{pc:>9.1f} ({pc_lo:.0f}-{pc_hi:.0f}){'':>3} {cm / pc:>7.3f} {rows[name][2]:>7.1f} {rows[name][3]:>10.1f}")
print(f"\nprotoc start-up (empty input): {startup:.1f} ms")

print("\nissue 7:")
big = rows.get("resnet_100000.prototxt")
mid = rows.get("resnet_10000.prototxt")
tiny = rows.get("alexnet.prototxt")
def check(ok):
    return "met" if ok else "NOT met"
if big:
    cm, pc, cm_mib, pc_mib, _ = big
    print(f"  100k layers: caffe-mem {cm:.0f} ms = {cm / pc:.3f} x protoc's {pc:.0f} ms "
          f"(target <= 0.1): {check(cm <= pc / 10)}")
    print(f"  100k layers: peak {cm_mib:.0f} MiB vs protoc's {pc_mib:.0f} MiB "
          f"(target <=): {check(cm_mib <= pc_mib)}")
if tiny:
    print(f"  tiny net: caffe-mem {tiny[0]:.1f} ms vs protoc start-up {startup:.1f} ms "
          f"(target <): {check(tiny[0] < startup)}")
if big and mid:
    growth = big[0] / mid[0]
    print(f"  10k -> 100k layers: x{growth:.1f} (target <= 11): {check(growth <= 11)}"
          f" (CPU time, user + system: x{big[4] / mid[4]:.1f})")

print("\ngrowth (whole process, medians; linear is about x10, quadratic x100):")
for shape in shapes:
    (small, _, _), (large, _, _) = times(os.path.join(results, f"growth-{shape}.json"))
    print(f"  {shape:<8} 2k layers {small:6.1f} ms, 20k layers {large:6.1f} ms: "
          f"x{large / small:.1f} (target <= 11): {check(large / small <= 11)}")
EOF
