"""A stand-in for IBC starting IB Gateway whose login waits for IBKR Mobile and is never approved: it prints IBC's
console lines for the prompt and its timeout (IbcAlpha/IBC LoginManager.java) and exits with IBC's 2FA timeout code
(ErrorCodes.ERROR_CODE_2FA_DIALOG_TIMED_OUT)."""
import sys
from datetime import datetime

EXIT_2FA_TIMED_OUT = 1111


def console(message: str) -> None:
    # IBC's Utils.logToConsole: a local timestamp, then "IBC: " and the message
    print(f"{datetime.now():%Y-%m-%d %H:%M:%S:%f}"[:-3] + f" IBC: {message}", flush=True)


if __name__ == "__main__":
    console("Starting session: will exit if login dialog is not displayed within 60 seconds")
    console("Second Factor Authentication initiated")
    console("If login has not completed, IBC will exit in 80 seconds")
    console("IBC closing after Second Factor Authentication dialog timeout")
    sys.exit(EXIT_2FA_TIMED_OUT)
