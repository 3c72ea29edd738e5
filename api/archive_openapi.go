package api

// archivePaths describes the bulk archive's build operation; its files
// under /archive/ are plain downloads, listed in the catalogue.
func archivePaths() obj {
	return obj{
		"/api/v1/archive/days/{day}": obj{"post": op("open data", "Write an archive day now",
			"Scope admin. Writes (or rewrites) the bulk archive of one past UTC day: per kind a gzip CSV of the public readings (columns time, device, district, lon, lat and one per measured field with its unit in brackets), the devices' positions as GeoJSON and SHA256SUMS, under /archive/YYYY/MM/DD/. Kessel writes each day by itself at 00:15 UTC.",
			[]any{param("day", "path", "The UTC day, YYYY-MM-DD, before today.", "string", true, "2026-11-29")},
			obj{"201": obj{"description": "written; Location names its folder", "content": obj{"application/json": obj{"schema": obj{"type": "object",
				"required": []string{"day", "url"}, "properties": obj{"day": obj{"type": "string", "format": "date"}, "url": obj{"type": "string"}}}}}}},
			[]string{"400", "401", "403", "429", "503"}, secured)},
	}
}
