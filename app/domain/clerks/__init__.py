"""What a poll clerk sees and keeps of their own: places, profile, calendar feed; and
signing in by a code sent to their mobile."""
