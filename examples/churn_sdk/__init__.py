"""A churn-prediction pipeline tracked with the threadline SDK (see README.md here)."""
