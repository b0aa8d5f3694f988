"""Weight formats of catalog models and the GPU memory one parameter takes (pure data)."""

WEIGHT_FORMATS = {
    "bf16": "BF16",
    "fp16": "FP16",
    "fp8": "FP8",
    "mxfp4": "MXFP4 (4-bit)",
    "int4": "INT4 (4-bit)",
}
# Bytes per parameter, averaged over a checkpoint. MXFP4 checkpoints (gpt-oss) quantize the
# MoE experts to 4.25 bits and keep attention and embeddings in BF16: gpt-oss-20b's 21 B
# parameters take about 13 GB, 0.62 bytes each on average.
BYTES_PER_PARAMETER = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "mxfp4": 0.62, "int4": 0.5}
DEFAULT_WEIGHT_FORMAT = "bf16"
