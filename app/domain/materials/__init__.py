"""Materials and equipment: the catalogue, the rules that say what each station needs,
stock in depots with reservations and the shortfall to order, and (beside them) packing,
delivery and election-day shortages."""
