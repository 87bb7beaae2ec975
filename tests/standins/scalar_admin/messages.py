"""The rpc.Admin messages as real protobuf classes, built from a descriptor at import time.

The stand-in deliberately does not share the collection's hand-written encoder: decoding the
collection's requests with the protobuf runtime is what makes the tests a cross-check of that
encoder. No protoc is needed: the file descriptor is written out below, field by field, as
scalar-admin's ``scalar-admin.proto`` declares it.
"""
from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.empty_pb2 import Empty

_F = descriptor_pb2.FieldDescriptorProto


def _build() -> tuple[type, type]:
    proto = descriptor_pb2.FileDescriptorProto(name="standins/scalar_admin.proto", package="rpc", syntax="proto3")
    proto.dependency.append("google/protobuf/empty.proto")
    pause = proto.message_type.add(name="PauseRequest")
    pause.field.add(name="wait_outstanding", number=1, type=_F.TYPE_BOOL, label=_F.LABEL_OPTIONAL, json_name="waitOutstanding")
    # proto3 ``optional``: a synthetic one-field oneof gives the field explicit presence.
    pause.oneof_decl.add(name="_max_pause_wait_time")
    pause.field.add(name="max_pause_wait_time", number=2, type=_F.TYPE_INT64, label=_F.LABEL_OPTIONAL,
                    json_name="maxPauseWaitTime", oneof_index=0, proto3_optional=True)
    check = proto.message_type.add(name="CheckPausedResponse")
    check.field.add(name="paused", number=1, type=_F.TYPE_BOOL, label=_F.LABEL_OPTIONAL, json_name="paused")
    service = proto.service.add(name="Admin")
    service.method.add(name="Pause", input_type=".rpc.PauseRequest", output_type=".google.protobuf.Empty")
    service.method.add(name="Unpause", input_type=".google.protobuf.Empty", output_type=".google.protobuf.Empty")
    service.method.add(name="CheckPaused", input_type=".google.protobuf.Empty", output_type=".rpc.CheckPausedResponse")
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(Empty.DESCRIPTOR.file.serialized_pb)
    pool.Add(proto)
    return (message_factory.GetMessageClass(pool.FindMessageTypeByName("rpc.PauseRequest")),
            message_factory.GetMessageClass(pool.FindMessageTypeByName("rpc.CheckPausedResponse")))


PauseRequest, CheckPausedResponse = _build()

__all__ = ["CheckPausedResponse", "Empty", "PauseRequest"]
