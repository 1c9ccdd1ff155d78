#!/bin/sh
# demo.sh: the main job. Train a decision-focused (DFL) predictor on a
# training workload and print its regret table on shifted test workloads.
# Run by `make` / `make demo` after the build; every input is a SOURCE (a CSV
# file or synth:PROFILE), so it needs no files by default:
#   TRAIN   training workload      (default synth:conversation)
#   TEST    test workloads         (default: the training one's 30% split and
#                                   four shifted synthetic workloads)
#   EPOCHS, LR, LR_STEP, LR_GAMMA, SEED: the demo's training settings (the
#           paper's are 100 epochs, lr 1e-6, StepLR 10 and 0.05: too slow to
#           move a fresh predictor within a 2-minute demo)
#   OUT     where the model goes   (default build/demo/dfl.safetensors)
#   DIFF_PRESET, DIFF_IMAGES: the diffusion model trained on TRAIN's training
#           rows (default the tiny-t100 preset, 150 iterations) and the images
#           it samples (default 16) for the quality report
#   DIFF_ITERS: override the preset's iterations
#   REPRO_OUT, REPRO_DATA: where the demo grid of `tdl reproduce` goes (default
#           build/demo/reproduce) and its --data (default synth, the measured
#           setting; REPRO_DATA=../shared/data/azure for the real series)
# Example on real traces:
#   make demo TRAIN=../shared/data/azure/23V.csv \
#        TEST="../shared/data/azure/23V.csv ../shared/data/azure/24V.csv ../shared/data/azure/23D.csv"
set -e
TDL=${TDL:-./build/tdl}
TRAIN=${TRAIN:-synth:conversation}
TEST=${TEST:-"$TRAIN synth:code synth:conversation-2024 synth:code-2024 synth:conversation-bursty"}
EPOCHS=${EPOCHS:-10}
LR=${LR:-1e-3}
LR_STEP=${LR_STEP:-10}
LR_GAMMA=${LR_GAMMA:-0.5}
SEED=${SEED:-1}
OUT=${OUT:-build/demo/dfl.safetensors}
DIFF_PRESET=${DIFF_PRESET:-tiny-t100}
DIFF_IMAGES=${DIFF_IMAGES:-16}
DIFF_ITERS=${DIFF_ITERS:-}
REPRO_OUT=${REPRO_OUT:-$(dirname "$OUT")/reproduce}
REPRO_DATA=${REPRO_DATA:-synth}
DIFF_OUT="$(dirname "$OUT")/ddpm.safetensors"
SAMPLES="$(dirname "$OUT")/samples.csv"
mkdir -p "$(dirname "$OUT")"
rm -f "$OUT" "${OUT%.safetensors}.ckpt.safetensors" "$DIFF_OUT" "${DIFF_OUT%.safetensors}.ckpt.safetensors"

echo "== main job: train a DFL predictor on $TRAIN, test on shifted workloads"
echo "   demo settings: $EPOCHS epochs, lr $LR, StepLR $LR_STEP x $LR_GAMMA, batch 64, seed $SEED"
echo "   (the paper's: 100 epochs, lr 1e-6, StepLR 10 x 0.05; tdl train --help)"
"$TDL" train --method dfl --train "$TRAIN" --epochs "$EPOCHS" --lr "$LR" \
    --lr-step "$LR_STEP" --lr-gamma "$LR_GAMMA" --seed "$SEED" --checkpoint-every "$EPOCHS" -o "$OUT"
echo
# shellcheck disable=SC2086
"$TDL" eval --model "$OUT" --train "$TRAIN" --test $TEST --protocol authors --rule exact

echo
echo "== diffusion model: a DDPM ($DIFF_PRESET preset) on the training rows of $TRAIN,"
echo "   $DIFF_IMAGES sampled images against the real training rows (tdl diffusion --help)"
# shellcheck disable=SC2086
"$TDL" diffusion train --train "$TRAIN" --preset "$DIFF_PRESET" ${DIFF_ITERS:+--iters "$DIFF_ITERS"} \
    --seed "$SEED" -o "$DIFF_OUT"
"$TDL" diffusion sample --model "$DIFF_OUT" --images "$DIFF_IMAGES" --seed "$SEED" -o "$SAMPLES"
echo
"$TDL" diffusion quality --real "$TRAIN" --split train --generated "$SAMPLES" | sed -n '1,16p'
echo "   (the whole report: $TDL diffusion quality --real $TRAIN --split train --generated $SAMPLES)"

echo
echo "== the experiments: tdl reproduce --preset demo (every method and experiment of spec"
echo "   section 7 at tiny counts, one seed; cells cached in $REPRO_OUT, a rerun skips them;"
echo "   real counts: --preset cpu or paper, see README)"
"$TDL" reproduce --preset demo ${REPRO_DATA:+--data "$REPRO_DATA"} -o "$REPRO_OUT"
