package api

import "net/http"

// archivePaths describes the bulk archive's build operation; its files
// under /archive/ are plain downloads, listed in the catalogue.
func archivePaths() []*op {
	return []*op{
		newOp(http.MethodPost, "/api/v1/archive/days/{day}", "buildArchiveDay", tagOpenData, "Write an archive day now").scope(ScopeAdmin).
			describe("Writes (or rewrites) the bulk archive of one past UTC day: per kind a gzip CSV of the public readings (columns time, device, district, lon, lat and one per measured field with its unit in brackets), the devices' positions as GeoJSON and SHA256SUMS, under /archive/YYYY/MM/DD/. Kessel writes each day by itself at 00:15 UTC.").
			with(param("day", "path", "The UTC day, YYYY-MM-DD, before today and not before the oldest stored reading's day (410: its readings are gone, and its archive stays as written).", "string", true, "2026-11-29")).
			reply(201, "written; Location names its folder", asJSON("ArchiveDay")).header(201, "Location", "The day's folder under /archive/.").
			fails(400, 410, 503),
	}
}
