-- An account an administrator created or whose password an administrator reset must set
-- its own password before doing anything else (首次登录修改密码).
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
