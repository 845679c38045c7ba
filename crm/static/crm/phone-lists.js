// phone-lists
