"""What the screens decide, without Textual: the New-session form's text -> init_session's
arguments, a propagate request and the review tour, the 3D screen's error table."""
