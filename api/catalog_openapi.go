package api

import "net/http"

// catalogPaths describes the open-data catalogue and its stable links.
func catalogPaths() []*op {
	rdf := func(media ...string) obj {
		content := obj{}
		for _, m := range media {
			schema := obj{"type": "string"}
			if m == mediaJSONLD {
				schema = obj{"allOf": []any{schemaRef("Catalog")}, "description": "JSON-LD: the dcat:Catalog as the root node, datasets, distributions and the data service nested."}
			}
			content[m] = obj{"schema": schema}
		}
		return content
	}
	const what = "DCAT-AP.de (DCAT-AP 3.0 with GovData's additions): a dcat:Catalog with a dcat:DataService for this API and one dcat:Dataset per device kind, " +
		"each with distributions for the live API (JSON, GeoJSON) and a CSV download, licence (from the config; default dl-de/by-2-0), publisher, contact point, " +
		"contributor ID, political geocoding, EU data themes, spatial extent and temporal extent from the oldest stored reading."
	const get = http.MethodGet
	return []*op{
		newOp(get, "/api/v1/catalog", "getCatalog", tagOpenData, "Open-data catalogue").
			describe(what+" The representation follows Accept: application/ld+json (default), text/turtle or application/rdf+xml.").
			reply(200, "the catalogue", rdf(mediaJSONLD, "text/turtle", "application/rdf+xml")),
		newOp(get, "/api/v1/catalog.jsonld", "getCatalogJSONLD", tagOpenData, "Open-data catalogue as JSON-LD").
			describe("The catalogue as JSON-LD, whatever Accept says: a stable link for harvesters.").
			reply(200, "the catalogue", rdf(mediaJSONLD)),
		newOp(get, "/api/v1/catalog.ttl", "getCatalogTurtle", tagOpenData, "Open-data catalogue as Turtle").
			describe("The catalogue as Turtle, whatever Accept says: a stable link for harvesters.").
			reply(200, "the catalogue", rdf("text/turtle")),
		newOp(get, "/api/v1/catalog.rdf", "getCatalogRDFXML", tagOpenData, "Open-data catalogue as RDF/XML").
			describe("The catalogue as RDF/XML, whatever Accept says: a stable link for harvesters.").
			reply(200, "the catalogue", rdf("application/rdf+xml")),
	}
}
