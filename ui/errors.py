"""Plain Japanese for problems staff can fix themselves."""

from pydantic import ValidationError


def settings_error_message(exc: ValidationError) -> str:
    lines = ["設定ファイル（.streamlit/secrets.toml）に誤りがあります。"]
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        lines.append(f"- {where}: {error['msg']}")
    lines.append("書き方は .streamlit/secrets.example.toml を参照してください。")
    return "\n".join(lines)
