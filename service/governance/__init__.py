"""Governance: screening before release, review, challenges, confirmed purges, retention and
the transparency report."""
