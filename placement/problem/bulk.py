"""Bulk flows: a sustained bit rate from a demand site to chosen cloud regions, as a workload of chunks.

A bulk flow (a remote data centre's backhaul, `workloads[].kind = "bulk"`) needs no compute and no copy, only
links. It is expressed with the placement problem's own machinery so that it shares the links with the
inference traffic: a model of zero FLOPs, zero memory and zero weights (`bulk_model`), whose "requests" are
chunks of `chunk_bytes` sent up at `chunk_rate_per_s` and whose "responses" are the transport's
acknowledgements (`ACK_SHARE` of the chunk). Its only candidate hosts are its destination regions
(`Workload.hosts`). With `network.link_rows` the carried share loads the site's terminals, the access
satellite's user uplink, the lasers, the feeders and the gateway on the way like any request; the share
left unserved (paying `problem.unserved_penalty_ms` per chunk) is the traffic the constellation cannot carry.
"""

from __future__ import annotations

from placement.problem.catalog import ModelSpec

BULK_TASK = "bulk"
DEFAULT_CHUNK_BYTES = 1e6  # 1 MB: large next to a packet, small next to a second of a 10 Gbps flow
# Acknowledgement bytes per data byte: a receiver acknowledges at least every second full-sized segment
# (RFC 5681 sec. 4.2, delayed ACK), with a 40-byte ACK (20-byte IPv4 header, RFC 791, and 20-byte TCP
# header without options, RFC 9293) per two 1500-byte segments (Ethernet MTU, RFC 894).
ACK_SHARE = 40.0 / (2 * 1500.0)


def bulk_model_name(chunk_bytes: float) -> str:
    return f"bulk-{chunk_bytes:g}B"


def bulk_model(chunk_bytes: float = DEFAULT_CHUNK_BYTES) -> ModelSpec:
    """The pseudo-model of a bulk flow cut into chunks of `chunk_bytes`: nothing to compute, store or upload."""
    return ModelSpec(name=bulk_model_name(chunk_bytes), task=BULK_TASK, params=0.0, flops_per_inference=0.0,
                     memory_bytes=0.0, request_bytes=float(chunk_bytes), response_bytes=float(chunk_bytes) * ACK_SHARE,
                     accuracy=None, accuracy_metric="", precision="int8", source="placement.problem.bulk",
                     notes="a bulk flow's chunk: link load only")


def chunk_rate_per_s(rate_gbps: float, chunk_bytes: float) -> float:
    """Chunks per second of a flow of `rate_gbps` (1e9 bits/s) cut into chunks of `chunk_bytes`."""
    return rate_gbps * 1e9 / 8.0 / chunk_bytes
