"""Materials and equipment: the catalogue, needs per station, stock, packing, delivery
and return, and the shortages a station reports on election day."""
