// Package index maps blob IDs (chunks and content lists) to where they live
// in the repository: which pack, at which offset, how long stored and raw.
//
// The truth is the repository's index segments (objects under "index/"),
// encoded by EncodeSegment and decoded by DecodeSegment. Cache is a local
// bbolt file that mirrors the segments for fast lookups during backup and
// restore. It is never trusted over the repository: Sync loads segments that
// appeared and drops the entries of segments that vanished (garbage
// collection), so deleting the cache folder loses nothing.
package index
