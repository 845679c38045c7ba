// phone-forms
