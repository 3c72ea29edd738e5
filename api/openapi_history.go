package api

// What the history operations document about the resolutions that serve
// them (rollups or raw readings).

const historyResolution = "With every a multiple of 1h (1d) and fn mean, min, max, count or sum, served from the hourly (daily) rollups: whole UTC-aligned windows, each labelled with its start (the first may start before from), the newest not yet rolled up from raw readings. Raw readings older than the raw retention window (default 90 days) answer 410 naming the rollups. The Kessel-Resolution header and the resolution field say what served the answer."

const resolutionHeaderDesc = "What served the answer: raw, 1h, 1d, 1h+raw or 1d+raw."

var resolutionField = obj{"type": "string", "description": resolutionHeaderDesc}

// resolutionParam chooses the stored resolution of a history request.
func resolutionParam() obj {
	return enumParam("resolution", "Stored resolution to serve from: raw (every reading, kept for the raw retention window), 1h or 1d (rollups: mean, min, max and count per device and field, kept longer; every defaults to the resolution and must be a multiple of it; fn mean, min, max, count or sum). Default: a rollup where it serves the request, raw readings otherwise.", "raw", "1h", "1d")
}
