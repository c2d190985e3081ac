-- Koito v0.1.x, goose version 4: user names are stored lower-case.
UPDATE users SET username = lower(username);
