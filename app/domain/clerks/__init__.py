"""What a poll clerk sees and keeps of their own: places, profile, calendar feed."""
