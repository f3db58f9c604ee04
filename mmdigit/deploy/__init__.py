"""Deployment: ONNX export of the two-stage digit detectors and an onnxruntime ``DigitReader``."""
from .onnx_reader import OnnxDigitReader, compare_readers, export_onnx

__all__ = ['OnnxDigitReader', 'compare_readers', 'export_onnx']
