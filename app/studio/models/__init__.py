"""QObject models holding the studio's state; views subscribe to their signals."""
