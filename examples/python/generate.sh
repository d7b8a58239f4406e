#!/usr/bin/env bash
# Generates the Python message classes and gRPC stubs of roomgate.v1 from
# proto/ into examples/python/gen/, or into the directory given as $1, with the
# message classes of the vendored google.rpc error model (status.proto and
# error_details.proto), which Debian 12 packages neither as grpcio-status nor
# as googleapis-common-protos.
#
# Two compilers take part, both from Debian packages (README.md says why):
#   1. protoc (protobuf-compiler) writes the message classes (*_pb2.py, *_pb2.pyi)
#      and a descriptor set, with comments;
#   2. grpc_tools' protoc (python3-grpc-tools) writes the gRPC stubs
#      (*_pb2_grpc.py) from that descriptor set, not from the .proto files,
#      because its compiler is protoc 3.5.1, which rejects proto3 `optional`.
#
# PYTHON (default /usr/bin/python3) must be the Python that Debian's
# python3-grpcio, python3-grpc-tools and python3-protobuf are installed into;
# PROTOC (default /usr/bin/protoc) should be the protoc of the same protobuf
# release as that python3-protobuf: the code a protoc writes needs a runtime at
# least as new, and Debian ships the two at one version.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
proto_dir="$here/../../proto"
out="${1:-$here/gen}"
python="${PYTHON:-/usr/bin/python3}"
protoc="${PROTOC:-/usr/bin/protoc}"
install_hint="apt-get install python3-grpcio python3-grpc-tools python3-pkg-resources protobuf-compiler libprotobuf-dev"

if ! version="$("$protoc" --version 2>/dev/null)"; then
  echo "generate.sh: no protoc at $protoc ($install_hint, or set PROTOC)" >&2
  exit 1
fi
# proto3 `optional` needs protoc 3.15 or later (3.12-3.14 only behind a flag).
if [[ "$version" =~ ^libprotoc\ 3\.([0-9]+)\. ]] && ((BASH_REMATCH[1] < 15)); then
  echo "generate.sh: $protoc is $version; roomgate's protos need 3.15 or later" >&2
  exit 1
fi
if ! "$python" -c 'import grpc, grpc_tools.protoc, google.protobuf' 2>/dev/null; then
  echo "generate.sh: $python cannot import grpc, grpc_tools and google.protobuf ($install_hint, or set PYTHON)" >&2
  exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
rm -rf "$out/roomgate" "$out/google/rpc"

cd "$proto_dir"
protos=(roomgate/v1/*.proto)
"$protoc" -I . --python_out="$out" --pyi_out="$out" \
  --descriptor_set_out="$tmp/roomgate.binpb" --include_imports --include_source_info "${protos[@]}"
# Messages only: google.rpc has no services. They import google.protobuf's Any
# and Duration, which python3-protobuf provides.
"$protoc" -I . --python_out="$out" --pyi_out="$out" google/rpc/status.proto google/rpc/error_details.proto
# Not `python3 -m grpc_tools.protoc`: that adds `-I <grpc_tools>/_proto`, and
# protoc refuses -I together with --descriptor_set_in.
"$python" -c 'import sys; from grpc_tools import protoc; sys.exit(protoc.main(["grpc_tools.protoc", *sys.argv[1:]]))' \
  --descriptor_set_in="$tmp/roomgate.binpb" --grpc_python_out="$out" "${protos[@]}"

echo "generated $(find "$out/roomgate" "$out/google/rpc" -name '*.py' | wc -l) modules into $out ($version)"
