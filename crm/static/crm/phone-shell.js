// phone-shell
