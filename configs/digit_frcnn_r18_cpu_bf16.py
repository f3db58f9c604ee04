# The CPU config reading in bfloat16: the layers training autocasts (backbone, FPN, RPN head, R-CNN head) read in
# bf16 too where the CPU runs it natively (AVX-512 BF16 or AMX; elsewhere, and on a GPU, float32: test_cfg.bf16 of
# ZoomInFasterRCNN). Measured 2026-12-05 (2 cores, AVX-512 BF16; the 07:08 demo's A with its crop classifier, photo
# by photo against float32): synthetic test 0.8385 vs 0.838 (6 numbers gained, 5 lost), validation 0.847 vs 0.848
# (2 / 3), real photos 0.710 vs 0.703 (3 / 1), mAP within 0.001; reading (DigitReader, batch 16, medians of 3
# interleaved rounds) 88.9 -> 96.7 images/s with the crop classifier, 104.8 -> 116.4 without it.
# Not the default: bf16 sums round differently with the number of threads, so DigitReader(workers=2) and
# tools/infer.py --workers 2 may read a few numbers differently from one process (float32 reads them the same),
# and the ONNX export (float32) refuses it.
_base_ = './digit_frcnn_r18_cpu.py'
model = dict(test_cfg=dict(bf16=('backbone', 'neck', 'rpn_head', 'roi_head.bbox_head')))
