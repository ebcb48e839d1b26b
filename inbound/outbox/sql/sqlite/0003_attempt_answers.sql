-- What the webhook answered (its first 1 KB) and the kind of event each attempt carried:
-- what the admin page and `inbound deliveries show` print.
ALTER TABLE attempts ADD COLUMN response TEXT;
ALTER TABLE attempts ADD COLUMN kind TEXT;
