"""Alert exchange: signed SD-JWT submission, fan-out, encrypted feeds, dispositions."""
