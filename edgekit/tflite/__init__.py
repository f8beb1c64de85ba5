"""The TFLite flatbuffer format: schema and enum tables (schema.py), .tflite -> Graph
(reader.py, used by the importers) and int8 Graph -> .tflite (writer.py, used by
quantize, compress and deploy)."""
from edgekit.tflite.reader import graph_from_tflite_bytes
from edgekit.tflite.schema import schema
from edgekit.tflite.writer import export_tflite

__all__ = ["export_tflite", "graph_from_tflite_bytes", "schema"]
