package api

// catalogPaths describes the open-data catalogue and its stable links.
func catalogPaths() obj {
	rdf := func(media ...string) obj {
		content := obj{}
		for _, m := range media {
			schema := obj{"type": "string"}
			if m == mediaJSONLD {
				schema = obj{"type": "object", "description": "JSON-LD: the dcat:Catalog as the root node, datasets, distributions and the data service nested."}
			}
			content[m] = obj{"schema": schema}
		}
		return obj{"200": obj{"description": "the catalogue", "content": content}}
	}
	const what = "DCAT-AP.de (DCAT-AP 3.0 with GovData's additions): a dcat:Catalog with a dcat:DataService for this API and one dcat:Dataset per device kind, " +
		"each with distributions for the live API (JSON, GeoJSON) and a CSV download, licence (from the config; default dl-de/by-2-0), publisher, contact point, " +
		"contributor ID, political geocoding, EU data themes, spatial extent and temporal extent from the oldest stored reading."
	return obj{
		"/api/v1/catalog": obj{"get": op("open data", "Open-data catalogue", what+
			" The representation follows Accept: application/ld+json (default), text/turtle or application/rdf+xml.", nil,
			rdf(mediaJSONLD, "text/turtle", "application/rdf+xml"), []string{"429"}, nil)},
		"/api/v1/catalog.jsonld": obj{"get": op("open data", "Open-data catalogue as JSON-LD", "The catalogue as JSON-LD, whatever Accept says: a stable link for harvesters.", nil,
			rdf(mediaJSONLD), []string{"429"}, nil)},
		"/api/v1/catalog.ttl": obj{"get": op("open data", "Open-data catalogue as Turtle", "The catalogue as Turtle, whatever Accept says: a stable link for harvesters.", nil,
			rdf("text/turtle"), []string{"429"}, nil)},
		"/api/v1/catalog.rdf": obj{"get": op("open data", "Open-data catalogue as RDF/XML", "The catalogue as RDF/XML, whatever Accept says: a stable link for harvesters.", nil,
			rdf("application/rdf+xml"), []string{"429"}, nil)},
	}
}
